package lba.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Runs one OpenSearch node, bound to 127.0.0.1, with the modules of the standard distribution that
 * the service uses loaded from the classpath, until the process receives SIGTERM.
 *
 * <p>Usage: {@code Launcher --home DIR [--http-port 9250] [--transport-port 9350] [--cluster-name NAME]
 * [--node-name NAME] [--seed-hosts 127.0.0.1:9351,127.0.0.1:9352 --initial-nodes a,b,c] [--parent-pid PID]}.
 * Data and logs go under DIR. Without {@code --seed-hosts} the node is a cluster of one; with it, the
 * node discovers its peers on those transport addresses, and the first start of the cluster elects a
 * cluster manager among {@code --initial-nodes} (node names). With {@code --parent-pid} the node also
 * stops when that process ends, so a test run killed hard does not leave a JVM behind. The node is
 * meant for tests and local work, not for production.
 */
public final class Launcher {

    /** Modules that a packaged OpenSearch loads from its modules/ folder; here they come from Maven. */
    private static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class, CommonAnalysisPlugin.class, MapperExtrasPlugin.class, PainlessPlugin.class);

    private Launcher() {
    }

    /**
     * The public Node constructor only loads plugins from directories; the protected one, which the
     * OpenSearch test framework also uses, accepts plugin classes already on the classpath.
     */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment) {
            super(environment, MODULES, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path home = Path.of(require(options, "--home")).toAbsolutePath();
        String clusterName = options.getOrDefault("--cluster-name", "lba-test");
        String nodeName = options.getOrDefault("--node-name", clusterName + "-node");
        String seedHosts = options.get("--seed-hosts");
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        // An empty plugins/ folder: the node scans it and must find nothing to load twice.
        Files.createDirectories(home.resolve("plugins"));

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", clusterName)
            .put("node.name", nodeName)
            .put("network.host", "127.0.0.1")
            .put("http.port", options.getOrDefault("--http-port", "9250"))
            .put("transport.port", options.getOrDefault("--transport-port", "9350"))
            // A developer disk that is 90% full must not turn the test indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // Writes to a missing alias must fail rather than create a stray index named like it.
            .put("action.auto_create_index", false)
            .put("logger.level", "WARN");
        if (seedHosts == null) {
            builder.put("discovery.type", "single-node");
        } else {
            builder.putList("discovery.seed_hosts", List.of(seedHosts.split(",")))
                .putList("cluster.initial_cluster_manager_nodes", List.of(require(options, "--initial-nodes").split(",")));
        }
        Settings settings = builder.build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), null, () -> nodeName);

        Node node = new ClasspathNode(environment);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM: close the node so Lucene commits and the data folder can be reused or deleted.
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "lba-opensearch-shutdown"));
        node.start();
        String parent = options.get("--parent-pid");
        if (parent != null) {
            // Exiting runs the shutdown hook above, which closes the node cleanly.
            ProcessHandle.of(Long.parseLong(parent)).ifPresentOrElse(
                handle -> handle.onExit().thenRun(() -> System.exit(0)), () -> System.exit(0));
        }
        System.out.println("lba-opensearch started on 127.0.0.1:" + options.getOrDefault("--http-port", "9250"));
        System.out.flush();
        // The node's own threads are daemons: this non-daemon main thread keeps the JVM alive.
        closed.await();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
            }
            options.put(args[i], args[i + 1]);
        }
        return options;
    }

    private static String require(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }
}

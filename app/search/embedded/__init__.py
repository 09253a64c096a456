"""The embedded search engine: SQLite files for documents and text, memory-mapped posting columns for geo + job.

One module per concern: `grid` (cells and the search circle), `rows` (a document's SQLite and
posting rows), `builder` (a new generation), `generations` (the CURRENT pointer), `cleanup`
(old generations, dead builds), `live_updates` (upserts and deletes after the build), `snapshots`
(per-thread connections and one read snapshot per query), `scan` (candidates: the radius and
every filter), `hits`, `facets`, `rank` (the ranking formula in numpy), `select` (a page without a
full sort) and `engine` (EmbeddedEngine, the contract's verbs).
"""
from app.search.embedded.builder import BATCH, EmbeddedBuilder
from app.search.embedded.engine import TEXT_BUDGET_S, EmbeddedEngine
from app.search.embedded.grid import CELL_DEG, N_COLS, cell_of, cell_ranges
from app.search.embedded.rows import CONTRACT_BITS, columns_dir

__all__ = ["BATCH", "CELL_DEG", "CONTRACT_BITS", "N_COLS", "TEXT_BUDGET_S", "EmbeddedBuilder", "EmbeddedEngine",
           "cell_of", "cell_ranges", "columns_dir"]

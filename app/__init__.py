"""The apprenticeship matching service: web app, match service, engines and store; importing it loads no Flask."""

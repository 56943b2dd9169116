# netstack/: see netstack/README.md

# tools/: see tools/README.md

# images/: see images/README.md

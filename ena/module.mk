# ena/: see ena/README.md

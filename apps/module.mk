# apps/: see apps/README.md

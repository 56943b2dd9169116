# pal/: see pal/README.md

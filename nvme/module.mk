# nvme/: see nvme/README.md

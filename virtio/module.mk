# virtio/: see virtio/README.md

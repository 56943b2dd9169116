# vmbus/: see vmbus/README.md

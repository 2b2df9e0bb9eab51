"""Sources that read captures: the pcap/pcapng container, link layers, TCP reassembly."""

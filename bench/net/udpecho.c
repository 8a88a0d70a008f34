/*
 * udpecho: the sink's echo server for the latency prober. Answers every datagram on PORT
 * (any local address; the sink routes whole bench prefixes to itself) from the address it
 * was sent to (IP_PKTINFO), so the prober's connected socket accepts the answer.
 * Runs until killed. Usage: udpecho [PORT]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	sa.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 7));
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udpecho");
		return 1;
	}
	fprintf(stderr, "udpecho: ready on port %u\n", ntohs(sa.sin_port));
	for (;;) {
		char buf[2048], cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct sockaddr_in peer;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &peer, .msg_namelen = sizeof(peer),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &m, 0);
		struct cmsghdr *cm;

		if (n < 0)
			continue;
		iov.iov_len = (size_t)n;
		/* reply from the destination address: keep only the pktinfo, clear ifindex */
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);

				pi->ipi_spec_dst = pi->ipi_addr;
				pi->ipi_ifindex = 0;
			}
		}
		sendmsg(fd, &m, 0);
	}
}

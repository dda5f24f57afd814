/* addr.c - which peer addresses a redirected transfer may reach; see
 * fetch.h "Addresses". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/fetch.h"

/* Address blocks that are not the public Internet.  IPv4: RFC 6890's
 * special-purpose registry; IPv6 likewise, with the forms that embed an
 * IPv4 address (mapped, compatible, NAT64) judged by that address. */
static const struct { const char *net; int prefix; } blocked4[] = {
	{"0.0.0.0", 8},        /* "this network"; 0 and 0.0.0.0 reach the host */
	{"10.0.0.0", 8},       /* RFC 1918 */
	{"100.64.0.0", 10},    /* RFC 6598 shared address space (CGNAT) */
	{"127.0.0.0", 8},      /* loopback; also 2130706433 and 0x7f.1 */
	{"169.254.0.0", 16},   /* link-local; cloud metadata services */
	{"172.16.0.0", 12},    /* RFC 1918 */
	{"192.0.0.0", 24},     /* IETF protocol assignments */
	{"192.0.2.0", 24},     /* TEST-NET-1 */
	{"192.88.99.0", 24},   /* 6to4 relay anycast */
	{"192.168.0.0", 16},   /* RFC 1918 */
	{"198.18.0.0", 15},    /* benchmarking */
	{"198.51.100.0", 24},  /* TEST-NET-2 */
	{"203.0.113.0", 24},   /* TEST-NET-3 */
	{"224.0.0.0", 4},      /* multicast */
	{"240.0.0.0", 4},      /* reserved, and 255.255.255.255 broadcast */
};

static const struct { const char *net; int prefix; } blocked6[] = {
	{"::", 128},           /* unspecified */
	{"::1", 128},          /* loopback */
	{"100::", 64},         /* discard */
	{"2001:db8::", 32},    /* documentation */
	{"fc00::", 7},         /* unique local */
	{"fe80::", 10},        /* link-local */
	{"fec0::", 10},        /* site-local, deprecated but routable in labs */
	{"ff00::", 8},         /* multicast */
};

static int in_prefix(const unsigned char *a, const unsigned char *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (!rest)
		return 1;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int fetch_cidr_parse(const char *s, struct fetch_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct fetch_cidr c = {0};
	long prefix;
	char *end;

	if (n == 0 || n >= sizeof host)
		return HF_EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		prefix = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		prefix = 128;
	} else {
		return HF_EINVAL;
	}
	if (slash) {
		long max = prefix;

		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return HF_EINVAL;
		prefix = strtol(slash + 1, &end, 10);
		if (*end || prefix < 0 || prefix > max)
			return HF_EINVAL;
	}
	c.prefix = (int)prefix;
	*out = c;
	return HF_OK;
}

/* The IPv4 address an IPv6 one stands for (mapped ::ffff:a.b.c.d,
 * compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d), or NULL. */
static const unsigned char *embedded4(const unsigned char *a)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char zero[12] = {0};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};

	if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12))
		return a + 12;
	/* ::a.b.c.d, but not :: and ::1 (judged as IPv6). */
	if (!memcmp(a, zero, 12) && (a[12] | a[13] | a[14]))
		return a + 12;
	return NULL;
}

static int allowed(int family, const unsigned char *a, const struct fetch_cidr *allow,
                   size_t nallow)
{
	for (size_t i = 0; i < nallow; i++)
		if (allow[i].family == family && in_prefix(a, allow[i].addr, allow[i].prefix))
			return 1;
	return 0;
}

static int public4(const unsigned char *a, const struct fetch_cidr *allow, size_t nallow)
{
	if (allowed(AF_INET, a, allow, nallow))
		return 1;
	for (size_t i = 0; i < sizeof blocked4 / sizeof *blocked4; i++) {
		unsigned char net[4];

		if (inet_pton(AF_INET, blocked4[i].net, net) == 1 &&
		    in_prefix(a, net, blocked4[i].prefix))
			return 0;
	}
	return 1;
}

int fetch_addr_public(const struct sockaddr *sa, const struct fetch_cidr *allow,
                      size_t nallow)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return public4((const unsigned char *)&in->sin_addr, allow, nallow);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *a = in6->sin6_addr.s6_addr, *v4;

		if (allowed(AF_INET6, a, allow, nallow))
			return 1;
		if ((v4 = embedded4(a)))
			return public4(v4, allow, nallow);
		for (size_t i = 0; i < sizeof blocked6 / sizeof *blocked6; i++) {
			unsigned char net[16];

			if (inet_pton(AF_INET6, blocked6[i].net, net) == 1 &&
			    in_prefix(a, net, blocked6[i].prefix))
				return 0;
		}
		return 1;
	}
	/* Unix sockets and anything else: never by redirect. */
	return 0;
}

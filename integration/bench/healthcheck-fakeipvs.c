/*
 * fakeipvs.so: an LD_PRELOAD shim that lets keepalived's checker process run on
 * a kernel without ip_vs, for the side-by-side health-check benchmark
 * (integration/bench/healthcheck.sh). keepalived 2.2.7 talks to IPVS only
 * through libnl-genl; these stand-ins make every generic-netlink request
 * "succeed": the family resolves, sends succeed, and a receive runs the
 * socket's ACK and FINISH callbacks on an empty message (no VALID callback,
 * so nothing is parsed). The checker then starts, schedules its checks as it
 * would, and its (no-op) IPVS updates cost next to nothing. keepalived's own
 * rtnetlink code does not use libnl and is unaffected.
 *
 *   gcc -shared -fPIC -O2 -o fakeipvs.so healthcheck-fakeipvs.c
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

struct nl_sock;
struct nl_msg;
struct nl_cb;
typedef int (*nl_recvmsg_msg_cb_t)(struct nl_msg *, void *);

enum { CB_VALID = 0, CB_FINISH = 1, CB_ACK = 4, CB_MAX = 11 };

static nl_recvmsg_msg_cb_t cbs[CB_MAX];
static void *args[CB_MAX];

int genl_connect(struct nl_sock *sk) { (void)sk; return 0; }
int genl_ctrl_resolve(struct nl_sock *sk, const char *name) { (void)sk; (void)name; return 42; }
int nl_send_auto_complete(struct nl_sock *sk, struct nl_msg *msg) { (void)sk; (void)msg; return 0; }
int nl_send_auto(struct nl_sock *sk, struct nl_msg *msg) { (void)sk; (void)msg; return 0; }

static void record(int type, nl_recvmsg_msg_cb_t func, void *arg)
{
	if (type >= 0 && type < CB_MAX) {
		cbs[type] = func;
		args[type] = arg;
	}
}

int nl_socket_modify_cb(struct nl_sock *sk, int type, int kind, nl_recvmsg_msg_cb_t func, void *arg)
{
	static int (*real)(struct nl_sock *, int, int, nl_recvmsg_msg_cb_t, void *);
	if (!real)
		real = (int (*)(struct nl_sock *, int, int, nl_recvmsg_msg_cb_t, void *))dlsym(RTLD_NEXT, "nl_socket_modify_cb");
	record(type, func, arg);
	return real ? real(sk, type, kind, func, arg) : 0;
}

int nl_cb_set(struct nl_cb *cb, int type, int kind, nl_recvmsg_msg_cb_t func, void *arg)
{
	static int (*real)(struct nl_cb *, int, int, nl_recvmsg_msg_cb_t, void *);
	if (!real)
		real = (int (*)(struct nl_cb *, int, int, nl_recvmsg_msg_cb_t, void *))dlsym(RTLD_NEXT, "nl_cb_set");
	record(type, func, arg);
	return real ? real(cb, type, kind, func, arg) : 0;
}

int nl_recvmsgs_default(struct nl_sock *sk)
{
	static struct nl_msg *(*alloc)(void);
	static void (*release)(struct nl_msg *);
	struct nl_msg *m;
	(void)sk;
	if (!alloc) {
		alloc = (struct nl_msg * (*)(void)) dlsym(RTLD_NEXT, "nlmsg_alloc");
		release = (void (*)(struct nl_msg *))dlsym(RTLD_NEXT, "nlmsg_free");
	}
	m = alloc ? alloc() : NULL;
	if (m) {
		if (cbs[CB_ACK])
			cbs[CB_ACK](m, args[CB_ACK]);
		if (cbs[CB_FINISH])
			cbs[CB_FINISH](m, args[CB_FINISH]);
		release(m);
	}
	return 0;
}

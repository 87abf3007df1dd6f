// Package rawsys holds read(2) and write(2) as raw system calls, for
// non-blocking descriptors on hot paths (the health-check loop, GARP
// frames, the link watch): a raw call leaves out the runtime's system call
// bookkeeping, which lets sysmon hand the caller's P to another thread and
// wakes sysmon if it slept. Only for calls that cannot block. Prefaulted
// makes the buffers such paths read into with their pages already mapped.
// EpollOnPoller and EpollWait are the wait those loops park in: an epoll
// instance on the runtime's poller, read with a raw epoll_wait.
package rawsys

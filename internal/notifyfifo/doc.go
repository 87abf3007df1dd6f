// Package notifyfifo writes keepalived's notify FIFOs (global_defs notify_fifo,
// vrrp_notify_fifo and lvs_notify_fifo) and runs their _script readers.
//
// The lines are keepalived 2.2.7's (vrrp_notify.c notify_fifo, check/ipwrapper.c
// notify_fifo_vs and notify_fifo_rs):
//
//	INSTANCE "VI_1" MASTER 100
//	GROUP "G1" BACKUP 0
//	INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100
//	VS [10.0.0.1]:tcp:80 UP
//	RS [192.168.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN
//
// As keepalived's fifo_open, a FIFO that does not exist is created (mode 0644,
// chowned to the configured user and group) and removed again at Close, the
// script is started with the FIFO's path as its last argument, and the FIFO is
// opened read-write, so that a missing reader never makes a write fail or block
// the opener.
//
// Unlike keepalived, which writes from its event loop and silently drops a line
// when the pipe is full, each FIFO has one writer goroutine fed by a bounded
// queue (QueueLen lines): Send never blocks (VRRP and the health checks never
// wait for a reader), lines are written in the order Send was called, a slow
// reader only delays the writer goroutine, and a line that finds the queue full
// is dropped, counted (Dropped) and logged.
//
// At a reload (Set.Reopen) a FIFO whose path, owner and reader are unchanged
// is kept with its reader and queue, so its lines go on in order; the changed
// ones are closed and opened anew. keepalived closes and reopens every FIFO
// (and restarts every reader) at a reload.
package notifyfifo

// Package clock abstracts time so that timer-driven code (VRRP timers, tracking-script
// intervals, script timeouts) can be tested deterministically.
//
// Real is backed by package time. Fake only moves when told to: Advance and Set fire
// every timer whose deadline has been reached, in deadline order, and BlockUntil lets a
// test wait until the code under test has armed its timers, so tests need no sleeps.
package clock

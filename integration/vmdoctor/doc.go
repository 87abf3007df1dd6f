// Package vmdoctor runs `lvs-ha doctor` in the VM tier, for the checks the
// host kernel cannot stage (net.ipv4.vs.* exists only with ip_vs, tunl0 only
// with ipip): each makes the mistake in a namespace and sees it reported,
// then fixes it and sees it clean.
package vmdoctor

// Package vmdoctor runs `lvs-ha doctor` in the VM tier, for the checks that
// need kernel IPVS (net.ipv4.vs.* exists only with ip_vs, which the host
// kernel lacks): each makes the mistake in a namespace and sees it reported,
// then fixes it and sees it clean.
package vmdoctor

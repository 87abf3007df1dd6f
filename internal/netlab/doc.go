// Package netlab is the test and demo harness that builds small virtual Ethernet
// segments out of Linux network namespaces ([Lab], [Node]), so that lvs-ha
// directors, keepalived peers, clients and real servers run as real processes
// against the host kernel (or the test VM's). Everything needs root; addresses come
// from the documentation ranges and traffic stays inside the lab.
package netlab

// Package ipvsadm implements an ipvsadm(8)-compatible command (`lvs-ha ipvsadm
// ...`, or the lvs-ha binary invoked as `ipvsadm`). It follows ipvsadm 1.31:
// the same command line (popt rules: clustered short options, optional -p
// argument, leftovers), the same validity table of commands and options, the
// same error messages and exit codes, and byte-identical listings (-L with
// --stats, --rate, --exact, --thresholds, --persistent-conn, --tun-info, -c,
// --timeout, --daemon) and -S output, which -R reads back.
//
// Invoked as ipvsadm-save or ipvsadm-restore ([Tool] picks by argv[0]), it is
// Debian's companion scripts of ipvsadm 1.31 ([Env.Save], [Env.Restore]).
//
// It is split into a pure parser (Parse: argv to Command), a pure formatter
// (the List*/Save functions: ipvs model types to text) and a thin executor
// (Run) over the ipvs.Kernel interface.
package ipvsadm

// Package iproute adds and removes routes and policy routing rules with
// rtnetlink, with the options of keepalived's static_routes, virtual_routes,
// static_rules and virtual_rules entries ([Route], [Rule]); it parses no
// configuration. A [Manager] works in the network namespace of the thread
// calling it and needs CAP_NET_ADMIN.
package iproute

// Package syntax reads keepalived.conf files: keepalived 2.2.x's preprocessor
// (include, @ID, $NAME, ~SEQ/~LST) and block grammar (keepalived.conf(5),
// lib/parser.c), producing a tree of statements whose every word carries its
// file:line:col ([ParseFile], [Parse]). It knows no keywords: package conf gives the
// tree its meaning.
package syntax

package ipvs

import (
	"bytes"
	"errors"
	"fmt"
)

// attrDecoder walks the netlink attributes of a reply in place. It has the
// semantics and error messages of netlink.AttributeDecoder (same
// validation, same order of checks, same errors), but allocates nothing:
// the library's decoder is allocated on the heap, and copies each
// attribute's value into a fresh slice, ~40 allocations per real server
// when reading a table with its stats. Values returned by Bytes alias the
// reply buffer.
type attrDecoder struct {
	b   []byte
	i   int    // offset of the next attribute in b
	typ uint16 // current attribute type, flags included
	v   []byte // current attribute value
	err error
}

// errInvalidAttribute is netlink's error text for a truncated attribute.
var errInvalidAttribute = errors.New("invalid attribute; length too short or too large")

const (
	nlaHeaderLen  = 4
	attrTypeMask  = 0x3fff // netlink.Nested | netlink.NetByteOrder masked off
	nlaAlignBytes = 4
)

func nlaAlign(n int) int { return (n + nlaAlignBytes - 1) &^ (nlaAlignBytes - 1) }

// newAttrDecoder returns a decoder over b. It checks b as
// netlink.NewAttributeDecoder does (a trailing fragment shorter than an
// attribute header is an error): on that error Next is false at once and
// Err returns it.
func newAttrDecoder(b []byte) attrDecoder {
	for i := 0; i < len(b); {
		if len(b)-i < nlaHeaderLen {
			return attrDecoder{err: errInvalidAttribute}
		}
		i += nlaAlign(max(int(ne.Uint16(b[i:])), nlaHeaderLen))
	}
	return attrDecoder{b: b}
}

// Next advances to the next attribute; false at the end or on an error.
func (ad *attrDecoder) Next() bool {
	if ad.err != nil || ad.i >= len(ad.b) {
		return false
	}
	b := ad.b[ad.i:]
	if len(b) < nlaHeaderLen {
		ad.err = errInvalidAttribute
		return false
	}
	l := int(ne.Uint16(b))
	if l > len(b) || (l != 0 && l < nlaHeaderLen) {
		ad.err = errInvalidAttribute
		return false
	}
	ad.typ = ne.Uint16(b[2:])
	ad.v = b[nlaHeaderLen:max(l, nlaHeaderLen)]
	ad.i += nlaAlign(max(l, nlaHeaderLen))
	return true
}

// Type is the current attribute's type without the flag bits.
func (ad *attrDecoder) Type() uint16 { return ad.typ & attrTypeMask }

// Err is the first error met.
func (ad *attrDecoder) Err() error { return ad.err }

// Bytes returns the current value if it has at least n bytes; otherwise it
// records an error and returns nil.
func (ad *attrDecoder) Bytes(n int) []byte {
	if ad.err != nil {
		return nil
	}
	if len(ad.v) < n {
		ad.err = fmt.Errorf("attribute %d: %d bytes, want %d", ad.Type(), len(ad.v), n)
		return nil
	}
	return ad.v
}

// String returns the value without its trailing NULs.
func (ad *attrDecoder) String() string {
	if ad.err != nil {
		return ""
	}
	return string(bytes.TrimRight(ad.v, "\x00"))
}

// fixed returns the value if it has exactly n bytes, else records the
// library's error for a value of type name.
func (ad *attrDecoder) fixed(n int, name string) []byte {
	if ad.err != nil {
		return nil
	}
	if len(ad.v) != n {
		ad.err = fmt.Errorf("netlink: attribute %d is not a %s; length: %d", ad.Type(), name, len(ad.v))
		return nil
	}
	return ad.v
}

func (ad *attrDecoder) Uint8() uint8 {
	if v := ad.fixed(1, "uint8"); v != nil {
		return v[0]
	}
	return 0
}

func (ad *attrDecoder) Uint16() uint16 {
	if v := ad.fixed(2, "uint16"); v != nil {
		return ne.Uint16(v)
	}
	return 0
}

func (ad *attrDecoder) Uint32() uint32 {
	if v := ad.fixed(4, "uint32"); v != nil {
		return ne.Uint32(v)
	}
	return 0
}

// Do hands the value to fn (a nested attribute set), recording its error.
func (ad *attrDecoder) Do(fn func(b []byte) error) {
	if ad.err != nil {
		return
	}
	if err := fn(ad.v); err != nil {
		ad.err = err
	}
}

package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// A record on disk is a fixed header followed by its data; integers are
// little-endian:
//
//	offset size field
//	0      1    version: 0xB1, magic and format version in one byte
//	1      1    flags: 1 = last record of one Append, 2 = first record of one write
//	2      2    reserved, zero
//	4      4    length of the data
//	8      4    CRC-32C (Castagnoli) of bytes 0-7, 12-27 and the data
//	12     8    seq
//	20     8    appended, unix nanoseconds
//	28     n    data
//
// The version byte is neither 0x00 nor 0xFF, so the zero-filled blocks a file
// system may leave at the end of a file after a power cut never parse.
//
// The two flags let recovery tell a crash from corruption. The records of one
// Append reach the disk in one write, so records not followed by a "last of
// one Append" record belong to an Append that never returned and are dropped
// with it: an Append is all-or-nothing even across a crash. And since a write
// starts only after the previous one is fsynced, a damaged record followed by
// the start of a later write cannot be the torn end of the last write: it is
// damage to records already acknowledged, which Open reports instead of
// truncating them away.
const (
	recVersion      = 0xB1
	headerSize      = 28
	flagUnitEnd     = 1 << 0
	flagCommitStart = 1 << 1
	knownFlags      = flagUnitEnd | flagCommitStart

	// maxDataLimit bounds the length field whatever the configuration, so a
	// corrupt length never makes a reader allocate more, and records written
	// under a larger MaxRecordBytes stay readable after it is lowered.
	maxDataLimit = 16 << 20
)

// castagnoli is read-only after initialisation: crc32 caches its tables.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errTruncated = errors.New("truncated record")
	errChecksum  = errors.New("checksum mismatch")
)

type header struct {
	flags  byte
	length uint32
	crc    uint32
	seq    uint64
	nanos  int64
}

// parseHeader checks everything in a header that can be checked without
// the data, so a damaged length is caught before anything is read for it.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: %d of %d header bytes", errTruncated, len(b), headerSize)
	}
	if b[0] != recVersion {
		return header{}, fmt.Errorf("version byte 0x%02x, want 0x%02x", b[0], recVersion)
	}
	if b[1]&^knownFlags != 0 {
		return header{}, fmt.Errorf("unknown flags 0x%02x", b[1])
	}
	if b[2]|b[3] != 0 {
		return header{}, errors.New("reserved bytes not zero")
	}
	h := header{
		flags:  b[1],
		length: binary.LittleEndian.Uint32(b[4:8]),
		crc:    binary.LittleEndian.Uint32(b[8:12]),
		seq:    binary.LittleEndian.Uint64(b[12:20]),
		nanos:  int64(binary.LittleEndian.Uint64(b[20:28])),
	}
	if h.length > maxDataLimit {
		return header{}, fmt.Errorf("length %d above the %d-byte bound", h.length, maxDataLimit)
	}
	return h, nil
}

// checksum is the CRC a header stores: over the header minus the CRC field,
// then the data. hdr holds at least the header; data may follow it in hdr
// (then pass nil) or live elsewhere, as when a scan reads them separately.
func checksum(hdr, data []byte) uint32 {
	c := crc32.Update(0, castagnoli, hdr[0:8])
	c = crc32.Update(c, castagnoli, hdr[12:headerSize])
	if data == nil {
		data = hdr[headerSize:]
	}
	return crc32.Update(c, castagnoli, data)
}

// decodeRecord decodes the record at the start of b, which comes from disk
// and may hold anything. It allocates nothing: Data aliases b.
func decodeRecord(b []byte) (rec Record, flags byte, n int, err error) {
	h, err := parseHeader(b)
	if err != nil {
		return Record{}, 0, 0, err
	}
	if uint64(len(b)-headerSize) < uint64(h.length) {
		return Record{}, 0, 0, fmt.Errorf("%w: %d data bytes of %d", errTruncated, len(b)-headerSize, h.length)
	}
	n = headerSize + int(h.length)
	if checksum(b[:n], nil) != h.crc {
		return Record{}, 0, 0, errChecksum
	}
	return Record{Seq: h.seq, Appended: time.Unix(0, h.nanos), Data: b[headerSize:n:n]}, h.flags, n, nil
}

// appendRecord encodes one record onto dst without its checksum; seal adds
// it. The two are apart because Append encodes before the writer knows the
// seq, which the checksum covers.
func appendRecord(dst []byte, flags byte, seq uint64, nanos int64, data []byte) []byte {
	var h [headerSize]byte
	h[0] = recVersion
	h[1] = flags
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[12:20], seq)
	binary.LittleEndian.PutUint64(h[20:28], uint64(nanos))
	dst = append(dst, h[:]...)
	return append(dst, data...)
}

// seal stores the checksum of the encoded record rec.
func seal(rec []byte) {
	binary.LittleEndian.PutUint32(rec[8:12], checksum(rec, nil))
}

// recordLen is the encoded size of the record at the start of b, which the
// spool itself encoded.
func recordLen(b []byte) int {
	return headerSize + int(binary.LittleEndian.Uint32(b[4:8]))
}

// putSeq stores seq in the encoded record rec.
func putSeq(rec []byte, seq uint64) {
	binary.LittleEndian.PutUint64(rec[12:20], seq)
}

// getNanos is the Appended time of the encoded record rec.
func getNanos(rec []byte) int64 {
	return int64(binary.LittleEndian.Uint64(rec[20:28]))
}

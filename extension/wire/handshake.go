package wire

// HandshakeFragment is one handshake message, or a fragment of one, in an
// epoch-0 handshake record (RFC 6347 §4.2.2), as pion v2 reads it.
type HandshakeFragment struct {
	Type           byte
	Length         int    // the whole message's body, as the header says
	Seq            uint16 // message_seq
	Offset         int    // fragment_offset, as the header says
	FragmentLength int    // fragment_length, as the header says
	Data           []byte // what pion takes as the fragment's bytes: a slice of the record
}

// HandshakeFragments returns the handshake fragments of handshake record
// r the way pion v2's fragment buffer takes them, so that the engine sees
// what pion will build messages from: each header as it stands, the bytes
// after it up to the message's length (not the fragment's) or the
// record's end, the next header after those; a tail shorter than a header
// ends the list, and the fragments before it are pion's all the same.
func HandshakeFragments(r OneRecord) []HandshakeFragment {
	if r.ContentType != ContentHandshake {
		return nil
	}
	var out []HandshakeFragment
	for body := r.Whole[RecordHeaderLen:]; len(body) >= HandshakeHeaderLen; {
		f := HandshakeFragment{
			Type:           body[0],
			Length:         uint24(body[1:4]),
			Seq:            uint16(body[4])<<8 | uint16(body[5]),
			Offset:         uint24(body[6:9]),
			FragmentLength: uint24(body[9:12]),
		}
		end := min(HandshakeHeaderLen+f.Length, len(body))
		f.Data = body[HandshakeHeaderLen:end]
		out = append(out, f)
		body = body[end:]
	}
	return out
}

func uint24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

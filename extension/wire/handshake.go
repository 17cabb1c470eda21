package wire

// WholeHandshakeMessage returns the first handshake message of type typ
// that handshake record r holds whole (not a fragment of it), header and
// body, or ok=false.
func WholeHandshakeMessage(r OneRecord, typ byte) (msg []byte, ok bool) {
	if r.ContentType != ContentHandshake {
		return nil, false
	}
	body := r.Whole[RecordHeaderLen:]
	for len(body) >= HandshakeHeaderLen {
		length := uint24(body[1:4])
		offset := uint24(body[6:9])
		fragLen := uint24(body[9:12])
		if fragLen > len(body)-HandshakeHeaderLen {
			return nil, false
		}
		m := body[:HandshakeHeaderLen+fragLen]
		if body[0] == typ && offset == 0 && fragLen == length {
			return m, true
		}
		body = body[len(m):]
	}
	return nil, false
}

func uint24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

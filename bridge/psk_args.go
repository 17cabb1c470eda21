package main

import (
	"fmt"

	"godtls/extension/client"
	"godtls/extension/credentials"
)

// The PSK arguments of every class: a server's identity → key Dictionary
// (setup_psk, create_server_psk) and a client's identity and key
// (connect_psk, create_client_psk).

// pskTable reads identities and keys from a Dictionary.
func pskTable(m string, dict *variant, hint string) (*credentials.PSK, gdError) {
	keys, values := dictEntries(dict)
	defer func() {
		for i := range keys {
			keys[i].destroy()
			values[i].destroy()
		}
	}()
	table := map[string][]byte{}
	for i := range keys {
		id, ok := stringOf(&keys[i])
		if !ok {
			pushError(m, fmt.Sprintf("key %d is not a String identity", i))
			return nil, errInvalidParameter
		}
		b, ok := bytesOf(&values[i])
		if !ok {
			pushError(m, fmt.Sprintf("the key for identity %q is not a PackedByteArray", id))
			return nil, errInvalidParameter
		}
		table[id] = b
	}
	p, err := credentials.NewPSK(table, hint)
	if err != nil {
		pushError(m, err.Error())
		return nil, errInvalidParameter
	}
	return p, errOK
}

// pskClient is a client configuration for a PSK identity and key.
func pskClient(m, identity string, key []byte) (client.Config, gdError) {
	if identity == "" || len(key) == 0 {
		pushError(m, "identity and key must not be empty")
		return client.Config{}, errInvalidParameter
	}
	return client.Config{PSKIdentity: identity, PSKKey: key}, errOK
}

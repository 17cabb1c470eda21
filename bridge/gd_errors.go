package main

import (
	"errors"

	"godtls/extension/client"
	"godtls/extension/credentials"
	"godtls/extension/multiplayer"
	"godtls/extension/netsim"
	"godtls/extension/server"
)

// The one mapping from the engine's errors to Godot's Error codes, with
// what the game developer should do about each where the error's own text
// does not say it. Every class reports engine errors through fail.

type errorCode struct {
	err  error
	code gdError
	hint string
}

var errorCodes = []errorCode{
	{server.ErrNotConfigured, errUnconfigured, "call setup(), setup_pem() or setup_psk() first"},
	{server.ErrAlreadyListening, errAlreadyInUse, "call stop() first"},
	{server.ErrPortInUse, errAlreadyInUse, ""},
	{server.ErrModeMixed, errAlreadyInUse, "use another GoDTLSServer for the other mode"},
	{server.ErrBadAddress, errInvalidParameter, ""},
	{server.ErrBadPort, errInvalidParameter, ""},
	{server.ErrBadConfig, errInvalidParameter, "the value is unchanged"},
	{server.ErrSendQueueFull, errBusy, ""}, // also client.ErrSendQueueFull: one error
	{server.ErrNotConnected, errUnconfigured, ""},
	{client.ErrNotConnected, errUnconfigured, ""},
	{credentials.ErrKeyMismatch, errInvalidParameter, ""},
	{credentials.ErrNoKey, errInvalidParameter, ""},
	{credentials.ErrNoCertificate, errInvalidParameter, ""},
	{credentials.ErrNoPSK, errInvalidParameter, ""},
	{credentials.ErrNotPEM, errInvalidData, ""},
	{credentials.ErrUnsupported, errInvalidData, ""},
	{multiplayer.ErrUnknownPeer, errInvalidParameter, ""},
	{multiplayer.ErrSendBacklog, errBusy, ""},
	{multiplayer.ErrNotReady, errUnconfigured, "not connected yet"},
	{multiplayer.ErrBadOptions, errInvalidParameter, ""},
	{netsim.ErrBadSettings, errInvalidParameter, "the simulation is unchanged"},
}

// codeOf maps err to its Error code; otherwise is the code of an error the
// table does not know.
func codeOf(err error, otherwise gdError) (gdError, string) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code, e.hint
		}
	}
	return otherwise, ""
}

// fail reports err as method m's error and returns its Error code
// (otherwise when the table does not know err).
func fail(m string, err error, otherwise gdError) gdError {
	code, hint := codeOf(err, otherwise)
	msg := err.Error()
	if hint != "" {
		msg += "; " + hint
	}
	pushError(m, msg)
	return code
}

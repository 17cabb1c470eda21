package main

import (
	"godtls/extension/credentials"
	"godtls/extension/server"
)

// Setting up and opening an engine server, for GoDTLSServer and for
// GoDTLSMultiplayerPeer.create_server*: the same checks, the same errors.

func useCertificate(m string, srv *server.Server, c *credentials.Certificate) gdError {
	if err := srv.SetCertificate(c); err != nil {
		return fail(m, err, errAlreadyInUse)
	}
	return errOK
}

func usePSK(m string, srv *server.Server, p *credentials.PSK) gdError {
	if err := srv.SetPSK(p); err != nil {
		return fail(m, err, errAlreadyInUse)
	}
	return errOK
}

// listenOn opens the server's socket.
func listenOn(m string, srv *server.Server, port int64, bind string) gdError {
	reportProcessSimulation()
	if err := srv.Listen(int(port), bind); err != nil {
		return fail(m, err, errCantCreate)
	}
	return errOK
}

package llmemu

import (
	"encoding/json"
	"errors"
	"net/http"
)

// registerAdmin adds the admin routes listed in the package documentation.
func (e *Emulator) registerAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "models": e.Models()})
	})
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Faults())
	})
	setFaults := func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := e.SetFaults(f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, e.Faults())
	}
	mux.HandleFunc("POST /_emulator/faults", setFaults)
	mux.HandleFunc("PUT /_emulator/faults", setFaults)
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		writeJSON(w, http.StatusOK, e.Faults())
	})
	mux.HandleFunc("GET /_emulator/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Requests())
	})
	mux.HandleFunc("DELETE /_emulator/requests", func(w http.ResponseWriter, r *http.Request) {
		e.ResetRequests()
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	})
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, errors.New("no such admin route"))
	})
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

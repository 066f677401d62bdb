package mailtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"testing"
	"time"
)

func TestReceiveAndServeJSON(t *testing.T) {
	srv, err := Start(Options{User: "u", Pass: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	msg := "Subject: =?utf-8?q?h=C3=A9?=\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n.dot caf=C3=A9\r\n"
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "a@example.com", []string{"b@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	bad := smtp.PlainAuth("", "u", "wrong", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), bad, "a@example.com", []string{"b@example.com"}, []byte(msg)); err == nil {
		t.Fatal("wrong password accepted")
	}
	srv.FailNext(1)
	if err := smtp.SendMail(srv.Addr(), auth, "a@example.com", []string{"b@example.com"}, []byte(msg)); err == nil {
		t.Fatal("FailNext: DATA accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := srv.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}

	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []Received
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Subject != "hé" || got[0].Text != ".dot café\n" || got[0].From != "a@example.com" {
		t.Fatalf("received %+v", got)
	}
}

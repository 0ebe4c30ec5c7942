package redisstore_test

import (
	"fmt"
	"log"
	"os"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// Many machines sharing one authorisation: each builds its Source on the
// same Redis database, which holds the tokens and the renewal lock, so
// one machine renews at a time and the others use the token it stored.
// New connects when first used (here, never: the example only shows where
// the tokens live), and Close, once the Sources built on the store are
// done with, stores any renewal Redis refused before it closes.
func ExampleNew() {
	st, err := redisstore.New("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err) // a URL that names no Redis database
	}
	defer st.Close()

	src, err := freshtoken.New(freshtoken.Settings{
		Env:          "production",
		ClientID:     "your-client-id",
		ClientSecret: os.Getenv("FREEAGENT_SECRET"), // never written in the program
		TokenURL:     "https://api.freeagent.com/v2/token_endpoint",
		AuthURL:      "https://api.freeagent.com/v2/approve_app",
		APIURL:       "https://api.freeagent.com/",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}, freshtoken.Options{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(src.Location())
	// Output: redis://127.0.0.1:6379/0 (key freshtoken:production)
}

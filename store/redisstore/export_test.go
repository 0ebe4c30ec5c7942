package redisstore

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// AddHook adds h to s's go-redis client, for a test to act (pause Redis)
// at a given point of what the Store sends.
func AddHook(s *Store, h redis.Hook) { s.client.AddHook(h) }

// InfoRefused is infoRefused, for a test to hold it to real servers' answers.
func InfoRefused(err error) bool { return infoRefused(err) }

// SetConnMaxIdle sets how long a pooled connection of the Stores New
// makes from now on may go unused, for a test that cannot wait 30 s.
func SetConnMaxIdle(d time.Duration) { connMaxIdle = d }

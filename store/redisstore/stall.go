package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/store"
)

// stallHook tells the caller (store.WatchStall) that a command or pipeline,
// its tries again included, has waited store.StallNotice for Redis at
// where without an answer: a Redis that takes connections and never
// answers keeps a command quiet for 8 s before it is reported unreachable.
type stallHook struct{ where string }

func (h stallHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h stallHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "wait" { // waits for a replica, up to ReplicaWait, by design
			return next(ctx, cmd)
		}
		defer store.WatchStall(ctx, "Redis at "+h.where)()
		return next(ctx, cmd)
	}
}

func (h stallHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		defer store.WatchStall(ctx, "Redis at "+h.where)()
		return next(ctx, cmds)
	}
}

var _ redis.Hook = stallHook{}

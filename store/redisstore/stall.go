package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/store"
)

// stallHook tells the caller (store.WatchStall) that a command or pipeline,
// its tries again included, has waited store.StallNotice for Redis at
// where without an answer, and when such a call is answered after all: a
// Redis that takes connections and never answers keeps a command quiet for
// 8 s before it is reported unreachable.
type stallHook struct{ where string }

func (h stallHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h stallHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "wait" { // waits for a replica, up to ReplicaWait, by design
			return next(ctx, cmd)
		}
		stop := store.WatchStall(ctx, "Redis at "+h.where)
		err := next(ctx, cmd)
		stop(answered(err))
		return err
	}
}

func (h stallHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		stop := store.WatchStall(ctx, "Redis at "+h.where)
		err := next(ctx, cmds)
		stop(answered(err))
		return err
	}
}

// answered reports whether err, a command's or pipeline's outcome, is
// Redis's answer (an error reply, or redis.Nil, included), not a time-out
// or a connection lost or refused.
func answered(err error) bool {
	var reply redis.Error
	return err == nil || errors.As(err, &reply)
}

var _ redis.Hook = stallHook{}

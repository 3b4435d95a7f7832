package telemetry

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// heartbeatMethods are the Temporal frontend calls that carry an
// activity's heartbeat.
var heartbeatMethods = map[string]bool{
	"RecordActivityTaskHeartbeat":     true,
	"RecordActivityTaskHeartbeatById": true,
}

// UnaryClientInterceptor times the unary gRPC calls a Temporal client
// makes: every call but the long polls (Poll*, whose duration is the wait
// for work) into relutune_temporal_request_duration_seconds, heartbeats
// also into relutune_heartbeat_duration_seconds. Pass it to the client in
// client.Options.ConnectionOptions.DialOptions. A nil *Metrics returns nil.
func (m *Metrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	if m == nil {
		return nil
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		name := method[strings.LastIndexByte(method, '/')+1:]
		if strings.HasPrefix(name, "Poll") {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		d := time.Since(start).Seconds()
		m.temporalRequest.WithLabelValues(name, status.Code(err).String()).Observe(d)
		if heartbeatMethods[name] {
			m.heartbeat.Observe(d)
		}
		return err
	}
}

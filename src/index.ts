export type { Clock, TimerHandle } from './Clock.js';
export { systemClock } from './Clock.js';
export type { Random } from './random.js';
export { defaultRandom } from './random.js';
export type { SteadyRpcErrorCode, SteadyRpcErrorOptions } from './errors.js';
export { SteadyRpcError, isSteadyRpcError } from './errors.js';
export { redactUrl } from './redact.js';
export type {
  JsonRpcId,
  JsonRpcRequest,
  JsonRpcResponse,
  JsonRpcSuccess,
  JsonRpcFailure,
  JsonRpcErrorObject,
  JsonRpcNotification,
  RpcErrorCodeValue,
} from './jsonrpc.js';
export { RpcErrorCode } from './jsonrpc.js';

export type { EndpointSource } from './transport/endpoint.js';
export type { HttpEndpoint, HttpResponse, HttpTransport } from './transport/HttpTransport.js';
export { FetchHttpTransport, type FetchHttpTransportOptions, isNotDelivered, markNotDelivered } from './transport/HttpTransport.js';
export { NodeHttpTransport, type NodeHttpTransportOptions } from './transport/NodeHttpTransport.js';
export type {
  SendOptions,
  SocketCloseInfo,
  SocketEndpoint,
  SocketListener,
  SocketTransport,
  UpstreamSocket,
} from './transport/SocketTransport.js';
export { CloseCode, isAuthOrPolicyClose } from './transport/SocketTransport.js';
export type { WsSocketTransportOptions } from './transport/WsSocketTransport.js';
export { WsSocketTransport } from './transport/WsSocketTransport.js';
export type { SharedSocketStats, SharedSocketTransportOptions } from './transport/SharedSocketTransport.js';
export { SharedSocketTransport } from './transport/SharedSocketTransport.js';

export type { NodeConfig, NodeInfo, NodeTier } from './pool/NodeConfig.js';
export type { NodeHealth, NodeStatus } from './pool/NodeHealth.js';
export type {
  HealthEvent,
  NodePoolEvents,
  NodePoolOptions,
  NodeSnapshot,
  PoolSnapshot,
  SwitchEvent,
  SwitchReason,
} from './pool/NodePool.js';
export { NodePool } from './pool/NodePool.js';
export type { HttpDispatcherOptions, HttpRequestOptions } from './pool/HttpDispatcher.js';
export type { NodeSelector } from './pool/selection.js';
export { isUsable, preferFirstHealthy } from './pool/selection.js';
export type { NodeErrorClassifier, NodeErrorVerdict } from './pool/nodeErrors.js';
export { classifyNodeError } from './pool/nodeErrors.js';
export type { CircuitBreakerOptions, CircuitState } from './pool/CircuitBreaker.js';
export { CIRCUIT_BREAKER_DEFAULTS } from './pool/CircuitBreaker.js';
export type { RateLimitOptions } from './pool/RateLimitCooldown.js';
export { RATE_LIMIT_DEFAULTS } from './pool/RateLimitCooldown.js';
export type { CircuitEvent, RateLimitEvent } from './pool/PassiveHealth.js';
export type { HedgeOptions } from './pool/HedgePolicy.js';
export { HEDGE_DEFAULTS } from './pool/HedgePolicy.js';
export type { HedgeEvent } from './pool/HedgedSend.js';

export type { HealthCheckerEvents, HealthCheckerOptions, ProbeEvent } from './health/HealthChecker.js';
export { HealthChecker } from './health/HealthChecker.js';
export type { Probe, ProbeContext, ProbeResult } from './health/probes.js';
export { ethBlockNumberProbe, parseQuantity } from './health/probes.js';
export type { HysteresisThresholds } from './health/hysteresis.js';

export type { UpstreamSessionOptions } from './session/SessionOptions.js';
export { SESSION_DEFAULTS } from './session/SessionOptions.js';
export type { SessionState } from './session/SessionState.js';
export type { SessionEvents, SessionStats, SessionSwitchEvent, SessionSwitchReason } from './session/SessionEvents.js';
export { UpstreamSession } from './session/UpstreamSession.js';
export type { RepeatablePredicate } from './session/repeatable.js';
export { isRepeatable } from './session/repeatable.js';
// The session's pure building blocks, usable on their own (a proxy or session of your own).
export type { SubscriptionEntry } from './session/SubscriptionRegistry.js';
export { SubscriptionRegistry } from './session/SubscriptionRegistry.js';
export type { OwnPurpose, OwnRequestHandlers, ReplayFilterOptions } from './session/ReplayFilter.js';
export { ReplayFilter } from './session/ReplayFilter.js';
export type { MessageQueueOptions } from './session/MessageQueue.js';
export { MessageQueue } from './session/MessageQueue.js';
export type { ExponentialBackoffOptions } from './backoff/ExponentialBackoff.js';
export { ExponentialBackoff } from './backoff/ExponentialBackoff.js';

export type { GaugeReader, MetricsOptions } from './metrics/Metrics.js';
export { CONNECTION_DURATION_BUCKETS, Metrics } from './metrics/Metrics.js';
export type { Labels, MetricFamily, MetricType } from './metrics/prometheus.js';
export { renderPrometheus, type CounterFamily, type HistogramFamily } from './metrics/prometheus.js';

export type { AdapterSessionOptions, ResilientNodesOptions, ResilientOptions, ResilientPoolOptions } from './adapters/options.js';
export type {
  Eip1193EventName,
  Eip1193Events,
  Eip1193Listener,
  Eip1193Provider,
  Eip1193RequestArguments,
  Eip1193SubscriptionMessage,
} from './adapters/eip1193.js';
export { createEip1193Provider } from './adapters/eip1193.js';
export { ProviderErrorCode, ProviderRpcError } from './adapters/ProviderRpcError.js';
export type { SubscriptionNotification } from './adapters/SessionClient.js';
export type { BackfillEvent, ContinuitySettings, ReorgEvent } from './session/ContinuitySettings.js';
export type { ConsistencySettings } from './consistency/settings.js';
export type { ServeSocketOptions, ServedSocket, ServedSocketClose, ServedSocketCloseCause } from './server/serveSocket.js';
export { SERVE_SOCKET_DEFAULTS, serveSocket } from './server/serveSocket.js';
export type { HttpAnswer, HttpOutcome, ServeHttpOptions } from './server/serveHttp.js';
export { SERVE_HTTP_DEFAULTS, serveHttp } from './server/serveHttp.js';
export { readHttpBody } from './server/readHttpBody.js';
export type { RedactOptions, SecretBearer } from './redact.js';
export type {
  StandardWebSocket,
  StandardWebSocketConstructor,
  StandardWebSocketTransportOptions,
} from './transport/StandardWebSocketTransport.js';
export { StandardWebSocketTransport } from './transport/StandardWebSocketTransport.js';
export type { SocketPlatform } from './transport/defaultSocketTransport.js';
export { defaultSocketTransport } from './transport/defaultSocketTransport.js';
export type { Environment, Unsubscribe } from './environment/Environment.js';
export { staticEnvironment } from './environment/Environment.js';
export type { BrowserGlobals } from './environment/browserEnvironment.js';
export { browserEnvironment } from './environment/browserEnvironment.js';

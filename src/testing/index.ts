/**
 * The test kit: the same fakes steadyrpc's own tests use, for testing failover logic built on it
 * without sockets, servers or sleeping.
 */
export { FakeClock } from './FakeClock.js';
export type { FakeEnvironmentOptions } from './FakeEnvironment.js';
export { FakeEnvironment } from './FakeEnvironment.js';
export type { FakeHttpFailure, FakeHttpHandler, RecordedHttpRequest } from './FakeHttpTransport.js';
export { FakeHttpTransport } from './FakeHttpTransport.js';
export type { FakeBlockHeader, FakeChainOptions, FakeLog } from './FakeChain.js';
export { FakeChain, fakeBlockHash } from './FakeChain.js';
export type { FakeForkOptions, FakeImportOptions, FakeNodeMode, FakeNodeOptions, FakeSubscriptionIds } from './FakeNode.js';
export { FakeNode } from './FakeNode.js';
export type { FakeConnectHandler, FakeSendHandler, FakeSocketState, FakeSocketTransportOptions } from './FakeSocketTransport.js';
export { FakeSocket, FakeSocketTransport } from './FakeSocketTransport.js';

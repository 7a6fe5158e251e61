/**
 * BrokerService's gRPC client with the records-carrying messages on the codecs of
 * records-message-codecs.ts: a ProduceRequest is encoded with one copy of its records, and a
 * FetchResponse (Fetch and ReplicaFetch) is decoded with its records as views of the
 * received message. Every other method, and the whole API, is the generated client's.
 */
import { makeGenericClientConstructor } from '@grpc/grpc-js'
import * as broker from '../gen/broker.js'
import { decodeFetchResponse, decodeProduceRequest, encodeFetchResponse, encodeProduceRequest } from './records-message-codecs.js'

const generated = broker.BrokerServiceService

/** The generated service definition with the produce and fetch codecs swapped. */
export const FAST_BROKER_SERVICE = {
  ...generated,
  produce: { ...generated.produce, requestSerialize: encodeProduceRequest, requestDeserialize: decodeProduceRequest },
  fetch: { ...generated.fetch, responseSerialize: encodeFetchResponse, responseDeserialize: decodeFetchResponse },
  replicaFetch: { ...generated.replicaFetch, responseSerialize: encodeFetchResponse, responseDeserialize: decodeFetchResponse },
} satisfies typeof generated

export const FastBrokerServiceClient = makeGenericClientConstructor(FAST_BROKER_SERVICE, 'tributary.broker.BrokerService') as unknown as typeof broker.BrokerServiceClient

// Webhook delivery over HTTP: one signed try at a time (the outbox and retries are in src/actors).
export { DELIVERY_HEADER, EVENT_HEADER, postWebhook, SIGNATURE_HEADER, webhookSignature, type WebhookPost, type WebhookTryResult } from './post-webhook.js';

import { conflict, notFound } from '../core/errors.js';
import { StoreConflictError, StoreNotFoundError } from './store-errors.js';

/** Runs a store operation, turning storage refusals into management errors with the same one-line message. */
export async function translateStoreError<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreConflictError) throw conflict(error.message);
    if (error instanceof StoreNotFoundError) throw notFound(error.message);
    throw error;
  }
}

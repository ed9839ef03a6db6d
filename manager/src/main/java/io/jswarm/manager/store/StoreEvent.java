package io.jswarm.manager.store;

import io.jswarm.api.store.StoreAction;
import java.util.List;

/**
 * The changes of one applied log entry. Objects carry their new meta; a REMOVE carries
 * the object as it was before removal.
 */
public record StoreEvent(long index, List<StoreAction> actions) {}

package io.jswarm.manager.store;

import io.jswarm.api.store.StoreResult;

/** A write the store refused (stale version, missing object, duplicate name). */
public class StoreException extends RuntimeException {
    private final StoreResult.Code code;

    public StoreException(StoreResult.Code code, String message) {
        super(message);
        this.code = code;
    }

    public StoreResult.Code code() {
        return code;
    }
}

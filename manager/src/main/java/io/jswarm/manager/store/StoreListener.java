package io.jswarm.manager.store;

/** Told of every applied entry, on the apply thread: must return quickly. */
@FunctionalInterface
public interface StoreListener {
    void onApplied(StoreEvent event);
}

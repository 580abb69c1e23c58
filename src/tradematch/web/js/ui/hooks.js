// Data from the API, re-read whenever a live event says it changed: screens never patch state
// by hand, the API stays the single source of truth.
import { ApiError } from "../api.js";
import { subscribe } from "../live.js";
import { useCallback, useEffect, useRef, useState } from "./html.js";

/** Load with ``loader()``; re-load when ``deps`` change and on live events of ``types`` for
 *  which ``filter(event)`` is true (default: all of them). */
export function useResource(loader, deps, types = "*", filter = null) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const latest = useRef(loader);
  latest.current = loader;
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const data = await latest.current();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, []);
  useEffect(() => {
    setState({ data: null, error: null, loading: true });
    reload();
  }, deps);
  useEffect(() => {
    let pending = null;
    const off = subscribe(types, (event) => {
      if (event.type !== "RESYNC" && filterRef.current && !filterRef.current(event)) return;
      clearTimeout(pending);
      pending = setTimeout(reload, 50); // a burst of events (an award writes several): one read
    });
    return () => {
      off();
      clearTimeout(pending);
    };
  }, []);
  return { ...state, reload };
}

/** Run a user action: busy while it runs, its error kept for display, success reported. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, { error: String(caught.message || caught) }));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

/** Switches that save as soon as they are clicked: ``shown(name, fromApi)`` is the value
 *  clicked from ``hold(name, value)`` until ``release(name, value)`` (call it once the save is
 *  over and the resource re-read), and the resource's value otherwise. Without it, any render
 *  during the save (busy, a live event) would put the switch back to the value being changed. */
export function usePending() {
  const [pending, setPending] = useState({});
  const hold = useCallback((name, value) => setPending((p) => ({ ...p, [name]: value })), []);
  const release = useCallback(
    (name, value) =>
      setPending((p) => {
        if (p[name] !== value) return p; // clicked again since: that save will release it
        const { [name]: _, ...rest } = p;
        return rest;
      }),
    [],
  );
  const shown = (name, fromApi) => (name in pending ? pending[name] : fromApi);
  return { hold, release, shown };
}

/** Values of a form's named fields. */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

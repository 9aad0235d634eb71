from voicecoach.cli import main

# The guard keeps `python -m voicecoach` safe to import: a child process started with
# multiprocessing's "spawn" (lab/fit_stop_spotter.py's pool, say) imports the parent's
# main module again, and without it would start a second session.
if __name__ == "__main__":
    main()

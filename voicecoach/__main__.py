from voicecoach.cli import main

# The guard matters: the recogniser's judge process is started with "spawn", which
# imports this module again in the child.
if __name__ == "__main__":
    main()

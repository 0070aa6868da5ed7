"""Reading the dead-letter topic and sending replayable letters back to the changes topic."""

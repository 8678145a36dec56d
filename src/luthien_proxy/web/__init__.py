"""HTTP plumbing shared by the doors and the read side: body limits, JSON errors, frames, client addresses."""

//! The socket.io v5 layer on top of [`engineio`]. Not built yet: see the project's issue tracker.

"""The API's viewsets: each names its permissions and calls one service per write."""
